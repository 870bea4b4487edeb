//! The settings of a run: a job file (`jobs/*.toml`) overridden by command-line flags, the report
//! path template, and the credentials (environment or an owner-only file, never argv).

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

use crate::engine::Rate;
use crate::input::{ColumnMap, Format, Kind};

/// A job file. Every field is optional; relative paths are relative to the job file's folder.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    pub input: Option<PathBuf>,
    pub format: Option<Format>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub columns: ColumnMap,
    /// Kind for rows without one.
    pub kind: Option<Kind>,
    /// Kinds this job may revoke; rows of other kinds are invalid.
    pub kinds: Option<Vec<Kind>>,
    /// Report path; may hold `{date}`, `{time}` and `{job}`.
    pub report: Option<String>,
    pub resume: Option<bool>,
    pub base_url: Option<String>,
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
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Durations written as `30s`, `2m`, `500ms`.
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

/// Errors in a run's settings; all are exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("job file {path}: {reason}")]
    JobFile { path: PathBuf, reason: String },
    #[error("{0}")]
    Missing(String),
    #[error("credentials file {path}: {reason}")]
    CredentialsFile { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
}

impl JobFile {
    /// Reads a job file, making its relative paths relative to its folder.
    pub fn load(path: &Path) -> Result<JobFile, JobError> {
        let err = |reason: String| JobError::JobFile {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut job: JobFile =
            toml::from_str(&text).map_err(|e| err(e.to_string().trim_end().replace('\n', " ")))?;
        let dir = path.parent().unwrap_or(Path::new(""));
        let anchor = |p: &mut Option<PathBuf>| {
            if let Some(p) = p
                && p.is_relative()
                && p.as_os_str() != "-"
            {
                *p = dir.join(&*p);
            }
        };
        anchor(&mut job.input);
        anchor(&mut job.ca_cert);
        anchor(&mut job.credentials_file);
        if let Some(report) = &job.report
            && Path::new(report).is_relative()
        {
            job.report = Some(dir.join(report).to_string_lossy().into_owned());
        }
        Ok(job)
    }

    /// `other`'s fields where it has them, ours elsewhere: flags override the job file.
    pub fn overridden_by(self, other: JobFile) -> JobFile {
        JobFile {
            input: other.input.or(self.input),
            format: other.format.or(self.format),
            columns: ColumnMap {
                project: other.columns.project.or(self.columns.project),
                key: other.columns.key.or(self.columns.key),
                kind: other.columns.kind.or(self.columns.kind),
            },
            kind: other.kind.or(self.kind),
            kinds: other.kinds.or(self.kinds),
            report: other.report.or(self.report),
            resume: other.resume.or(self.resume),
            base_url: other.base_url.or(self.base_url),
            rate: other.rate.or(self.rate),
            project_rate: other.project_rate.or(self.project_rate),
            concurrency: other.concurrency.or(self.concurrency),
            max_attempts: other.max_attempts.or(self.max_attempts),
            timeout: other.timeout.or(self.timeout),
            connect_timeout: other.connect_timeout.or(self.connect_timeout),
            envelope: other.envelope.or(self.envelope),
            ca_cert: other.ca_cert.or(self.ca_cert),
            credentials_file: other.credentials_file.or(self.credentials_file),
        }
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

/// The report path when none is given: beside the input, `INPUT.report.csv`.
pub fn default_report_path(input: &Path) -> Option<PathBuf> {
    if input.as_os_str() == "-" {
        return None;
    }
    let mut name = input.as_os_str().to_owned();
    name.push(".report.csv");
    Some(PathBuf::from(name))
}

/// Environment variables searched for credentials, in order: MongoDB's CLI tools' own.
pub const CREDENTIAL_VARS: [(&str, &str); 2] = [
    ("MCLI_PUBLIC_API_KEY", "MCLI_PRIVATE_API_KEY"),
    (
        "MONGODB_ATLAS_PUBLIC_API_KEY",
        "MONGODB_ATLAS_PRIVATE_API_KEY",
    ),
];

/// The Ops Manager root URL variable of MongoDB's CLI tools.
pub const OPS_MANAGER_URL_VAR: &str = "MCLI_OPS_MANAGER_URL";

/// An API key pair and where it came from.
pub struct Credentials {
    pub public_key: String,
    pub private_key: SecretString,
    /// For messages and `--print-config`: a variable name or a file path.
    pub source: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("public_key", &self.public_key)
            .field("private_key", &"[redacted]")
            .field("source", &self.source)
            .finish()
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    public_key: String,
    private_key: String,
}

/// Finds the credentials: the file if one is named, else the environment (`env` looks a variable up).
pub fn credentials(
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Credentials, JobError> {
    if let Some(path) = file {
        return credentials_from_file(path);
    }
    let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    for (public, private) in CREDENTIAL_VARS {
        match (get(public), get(private)) {
            (Some(public_key), Some(private_key)) => {
                return Ok(Credentials {
                    public_key: public_key.trim().to_string(),
                    private_key: SecretString::from(private_key.trim().to_string()),
                    source: format!("environment ({public}, {private})"),
                });
            }
            (Some(_), None) => {
                return Err(JobError::Missing(format!(
                    "{public} is set but {private} is not"
                )));
            }
            (None, Some(_)) => {
                return Err(JobError::Missing(format!(
                    "{private} is set but {public} is not"
                )));
            }
            (None, None) => {}
        }
    }
    Err(JobError::Missing(format!(
        "no API key: set {} and {} (or {} and {}), or pass --credentials-file",
        CREDENTIAL_VARS[0].0, CREDENTIAL_VARS[0].1, CREDENTIAL_VARS[1].0, CREDENTIAL_VARS[1].1
    )))
}

fn credentials_from_file(path: &Path) -> Result<Credentials, JobError> {
    let err = |reason: String| JobError::CredentialsFile {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(err(format!(
                "readable by other users (mode {mode:04o}); run: chmod 600 {}",
                path.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    // The parser's message could quote the line holding the private key: say only where it failed.
    let parsed: CredentialsFile = toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
            .unwrap_or(1);
        err(format!(
            "line {at}: expected public_key = \"…\" and private_key = \"…\" (TOML)"
        ))
    })?;
    Ok(Credentials {
        public_key: parsed.public_key.trim().to_string(),
        private_key: SecretString::from(parsed.private_key.trim().to_string()),
        source: format!("file {}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_job_file() {
        let job = JobFile {
            rate: Some("10/s".parse().unwrap()),
            concurrency: Some(4),
            ..Default::default()
        };
        let flags = JobFile {
            concurrency: Some(32),
            ..Default::default()
        };
        let merged = job.overridden_by(flags);
        assert_eq!(merged.concurrency, Some(32));
        assert_eq!(merged.rate, Some("10/s".parse().unwrap()));
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
    fn credentials_come_in_pairs_in_order() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = credentials(
            None,
            &env(&[
                ("MONGODB_ATLAS_PUBLIC_API_KEY", "a"),
                ("MONGODB_ATLAS_PRIVATE_API_KEY", "b"),
            ]),
        )
        .unwrap();
        assert_eq!(c.public_key, "a");
        let c = credentials(
            None,
            &env(&[
                ("MCLI_PUBLIC_API_KEY", "m"),
                ("MCLI_PRIVATE_API_KEY", "n"),
                ("MONGODB_ATLAS_PUBLIC_API_KEY", "a"),
                ("MONGODB_ATLAS_PRIVATE_API_KEY", "b"),
            ]),
        )
        .unwrap();
        assert_eq!(c.public_key, "m");
        assert!(format!("{c:?}").contains("redacted") && !format!("{c:?}").contains("\"n\""));
        let e = credentials(None, &env(&[("MCLI_PUBLIC_API_KEY", "m")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "MCLI_PUBLIC_API_KEY is set but MCLI_PRIVATE_API_KEY is not"
        );
        assert!(
            credentials(None, &env(&[]))
                .unwrap_err()
                .to_string()
                .starts_with("no API key")
        );
    }
}
